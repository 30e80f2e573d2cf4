module github.com/anonpipe/anonpipe

go 1.26.8

require golang.org/x/sys v0.50.0

require github.com/matryer/is v1.4.1
