// A Python HTTP/1.1 server for the client tests' error cases and pool checks (python3's
// http.server, threaded, keep-alive). It listens on 127.0.0.1:0 and prints its port.
//
//   test::TempDir dir("py");
//   test::PeerProcess server({"/usr/bin/python3", dir.file("server.py", test::kHttpTestServerPy)}, true);
//   // http://127.0.0.1:<server.port()>/hello ...
//
// Routes: /hello (13 bytes), /chunked (3 chunks), /count (connections accepted so far),
// /peak (most connections open at once), /close-all (closes every other connection, then
// answers), /redirect/N (302 to /redirect/N-1; /redirect/0 answers "arrived"), /loop (302 to
// itself), /see-other (303 to /method), /method (the method's name), /echo (POST: the body),
// /silent (never answers), /reset (half a body, then RST), /early-close (half a body, then
// FIN), /malformed (a broken status line), /close-delimited (no length: ends with the
// connection), /no-content (204), /slow-body (the head, then nothing).
#pragma once

namespace test {

inline constexpr const char* kHttpTestServerPy = R"PY(
import socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
accepted = 0
open_now = 0
peak = 0
conns = set()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass

    def setup(self):
        global accepted, open_now, peak
        super().setup()
        with lock:
            accepted += 1
            open_now += 1
            peak = max(peak, open_now)
            conns.add(self.connection)

    def finish(self):
        global open_now
        try:
            super().finish()
        finally:
            with lock:
                open_now -= 1
                conns.discard(self.connection)

    def send_text(self, body, status=200, extra=()):
        if isinstance(body, str): body = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)

    def raw(self, data, rst=False):
        self.wfile.write(data)
        self.wfile.flush()
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def route(self):
        p = self.path
        n = int(self.headers.get("Content-Length", "0"))
        self.body = self.rfile.read(n) if n else b""
        if p == "/hello": return self.send_text("Hello, World!")
        if p == "/count":
            with lock: return self.send_text(str(accepted))
        if p == "/peak":
            with lock: return self.send_text(str(peak))
        if p == "/close-all":
            with lock: others = [c for c in conns if c is not self.connection]
            for c in others:
                try: c.shutdown(socket.SHUT_RDWR)
                except OSError: pass
            return self.send_text("closed %d" % len(others))
        if p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"Hello, ", b"chunked ", b"world!"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if p.startswith("/redirect/"):
            n = int(p.split("/")[2])
            if n == 0: return self.send_text("arrived")
            return self.send_text("moved", 302, [("Location", "/redirect/%d" % (n - 1))])
        if p == "/loop": return self.send_text("", 302, [("Location", "/loop")])
        if p == "/see-other": return self.send_text("", 303, [("Location", "/method")])
        if p == "/method": return self.send_text(self.command)
        if p == "/echo": return self.send_text(self.body)
        if p == "/silent":
            time.sleep(60)
            return
        if p == "/slow-body":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
            self.wfile.flush()
            time.sleep(60)
            return
        if p == "/reset": return self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100, rst=True)
        if p == "/early-close": return self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        if p == "/malformed": return self.raw(b"HTTP/1.1 OK 200\r\nfoo\r\n\r\n")
        if p == "/close-delimited": return self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"until the end" * 1000)
        if p == "/no-content":
            self.send_response(204)
            self.end_headers()
            return
        self.send_text("not found", 404)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = route

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    def handle_error(self, request, client_address): pass  # resets are part of the tests

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

}  // namespace test
