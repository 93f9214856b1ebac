#!/usr/bin/env python3
"""Captures real client bytes as seed inputs (fuzz/README.md, "Seeds").

A listener on loopback records, byte for byte, what each client sends on
one connection (until the client has been quiet for a moment), answers a
small response, and writes the bytes to fuzz/corpus/HARNESS/NAME. The
clients are the real tools: curl (plain, browser-like, forms, chunked,
Expect, HTTP/1.0, HEAD, absolute form through a proxy, CONNECT, OPTIONS *,
a WebSocket upgrade, --haproxy-protocol), wrk (pipelined requests, with
wrk's own pipeline.lua), and HAProxy in front (send-proxy and
send-proxy-v2, with TLVs, over IPv4 and IPv6).

Run from the top of the tree: python3 fuzz/capture_seeds.py
Needs curl, wrk and haproxy (all Debian packages); a missing tool's seeds
are skipped, with a note. Existing files of the same name are replaced.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
QUIET = 0.4  # seconds without a byte that end a capture


class Capture:
    """A listener recording what each connection sends, in order."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1", limit=4096):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.limit = limit
        self.got = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(QUIET)
            data = b""
            while len(data) < self.limit:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
                # answer 100-continue so that curl sends the body
                if b"100-continue" in data and b"\r\n\r\n" in data and b"HTTP/1.1 100" not in data:
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                conn.sendall(REPLY)
            except OSError:
                pass
            conn.close()
            self.got.append(data[: self.limit])

    def take(self, wait=3.0):
        """The bytes of the next finished connection."""
        end = time.time() + wait
        while not self.got and time.time() < end:
            time.sleep(0.05)
        if not self.got:
            raise RuntimeError("nothing captured")
        return self.got.pop(0)

    def close(self):
        self.sock.close()


def save(harness, name, data):
    path = os.path.join(CORPUS, harness, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print("  %s/%s: %d bytes" % (harness, name, len(data)))


def have(tool):
    if shutil.which(tool):
        return True
    print("  (no %s: its seeds are skipped)" % tool)
    return False


BROWSER = [
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br",
    "Referer: http://127.0.0.1/index.html",
    "Connection: keep-alive",
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; _ga=GA1.1.1234567890.1700000000",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Dest: document",
    "Sec-Fetch-Mode: navigate",
    "Sec-Fetch-Site: same-origin",
    "Sec-Fetch-User: ?1",
    "DNT: 1",
    "Cache-Control: max-age=0",
    "If-None-Match: \"5e8f-61c2\"",
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
]


def curl_seeds(cap):
    url = "http://127.0.0.1:%d" % cap.port
    body = os.path.join(tempfile.mkdtemp(), "body")
    with open(body, "wb") as f:
        f.write(b"line one\nline two\n" * 4)
    runs = [
        ("curl_get", ["-v", url + "/"]),
        ("curl_browser", [url + "/search?q=moss+server&lang=en"] + sum([["-H", h] for h in BROWSER], [])),
        ("curl_form_post", ["-d", "name=moss&msg=hello%20world&x=1", url + "/echo"]),
        ("curl_chunked_post", ["-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body, url + "/echo"]),
        ("curl_expect_put", ["-H", "Expect: 100-continue", "-T", body, url + "/upload"]),
        ("curl_http10", ["--http1.0", url + "/sleep?ms=5"]),
        ("curl_head", ["-I", url + "/"]),
        ("curl_query_encoded", ["--get", "--data-urlencode", "url=http://127.0.0.1:1/a b?c=d&e",
                                "--data-urlencode", "ms=10", url + "/fetch"]),
        ("curl_absolute_form", ["-x", url, "http://example.com:8080/path/to?x=1#frag"]),
        ("curl_options_star", ["-X", "OPTIONS", "--request-target", "*", url]),
        ("curl_websocket", ["-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                            "-H", "Sec-WebSocket-Version: 13",
                            "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", url + "/ws"]),
        ("curl_connect", ["-p", "-x", url, "http://example.com:443/"]),
    ]
    for name, args in runs:
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "3"] + args,
                       stderr=subprocess.DEVNULL)
        save("http_request", name, cap.take())
    subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "3", "--haproxy-protocol",
                    url + "/"], stderr=subprocess.DEVNULL)
    save("proxy_protocol", "curl_haproxy_protocol_v1", cap.take())


def wrk_seeds(cap):
    script = "/usr/share/doc/wrk/examples/scripts/pipeline.lua"
    args = ["wrk", "-t1", "-c1", "-d1s"]
    if os.path.exists(script):
        args += ["-s", script]
    subprocess.run(args + ["http://127.0.0.1:%d/" % cap.port],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    data = cap.take()
    while not data:  # wrk's first connection may close unused
        data = cap.take()
    save("http_request", "wrk_pipelined" if len(args) > 4 else "wrk_get", data)
    cap.got.clear()


HAPROXY_CFG = """
global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f4
    bind 127.0.0.1:%(f4)d
    default_backend b_v1
frontend f6
    bind [::1]:%(f6)d
    default_backend b_v2
frontend f4v2
    bind 127.0.0.1:%(f4v2)d
    default_backend b_v2tlv
backend b_v1
    server s 127.0.0.1:%(cap)d send-proxy
backend b_v2
    server s 127.0.0.1:%(cap)d send-proxy-v2
backend b_v2tlv
    server s 127.0.0.1:%(cap)d send-proxy-v2 proxy-v2-options unique-id,crc32c,authority
"""


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def haproxy_seeds(cap):
    ports = {"f4": free_port(), "f6": free_port(socket.AF_INET6, "::1"),
             "f4v2": free_port(), "cap": cap.port}
    cfg = os.path.join(tempfile.mkdtemp(), "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(HAPROXY_CFG % ports)
    proc = subprocess.Popen(["haproxy", "-f", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        runs = [("haproxy_v1_tcp4", "http://127.0.0.1:%d/hello" % ports["f4"]),
                ("haproxy_v2_tcp6", "http://[::1]:%d/hello?a=1" % ports["f6"]),
                ("haproxy_v2_tlvs", "http://127.0.0.1:%d/" % ports["f4v2"])]
        for name, url in runs:
            subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "3", url],
                           stderr=subprocess.DEVNULL)
            save("proxy_protocol", name, cap.take())
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def main():
    cap = Capture()
    try:
        if have("curl"):
            curl_seeds(cap)
        if have("wrk"):
            wrk_seeds(cap)
        if have("haproxy") and have("curl"):
            haproxy_seeds(cap)
    finally:
        cap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
