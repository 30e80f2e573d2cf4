"""A JSON-RPC worker for examples/rpc, in Python.

Usage: worker.py READ,WRITE

The last argument is the handle string of an anonpipe.Conn: the descriptor
to read requests from and the one to write responses to. Go's net/rpc/jsonrpc
client sends one JSON object per request, {"method": "Worker.Add",
"params": [[2, 3]], "id": 0}; each is answered with {"id": 0, "result": 5,
"error": null}, or with the error's text and a null result. At EOF the
worker exits.
"""

import codecs
import json
import os
import sys


def call(method, params):
    if method == "Worker.Add":
        a, b = params[0]
        return a + b
    if method == "Worker.Upper":
        return params[0].upper()
    raise ValueError("rpc: can't find method " + method)


def main():
    read_fd, write_fd = (int(h) for h in sys.argv[-1].split(","))
    r = os.fdopen(read_fd, "rb", buffering=0)
    w = os.fdopen(write_fd, "wb", buffering=0)
    utf8 = codecs.getincrementaldecoder("utf-8")()  # a read may end inside a character
    decoder = json.JSONDecoder()
    text = ""
    while True:
        chunk = r.read(65536)
        if not chunk:
            return 0 if not text.strip() else "worker.py: EOF inside a request"
        text += utf8.decode(chunk)
        while True:
            text = text.lstrip()
            try:
                request, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                break  # no whole object yet
            text = text[end:]
            try:
                response = {"id": request["id"], "result": call(request["method"], request["params"]), "error": None}
            except Exception as e:
                response = {"id": request["id"], "result": None, "error": str(e)}
            out = (json.dumps(response) + "\n").encode("utf-8")
            while out:
                out = out[w.write(out):]


if __name__ == "__main__":
    sys.exit(main())
