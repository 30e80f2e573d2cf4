module github.com/anonpipe/anonpipe

go 1.25.0

require golang.org/x/sys v0.30.0

require github.com/matryer/is v1.4.1
