#!/usr/bin/env python3
"""bench/peers/auth_http.py PORT BACKEND_HOST BACKEND_PORT: nginx's auth_http endpoint.

nginx's mail proxy asks this HTTP server where each login goes (the request carries
Auth-User, Auth-Pass, Auth-Protocol...). It answers every login with Auth-Status: OK and the
one backend's address, so nginx logs in there with the client's own credentials and the
backend checks the password. It listens on 127.0.0.1:PORT until killed.
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    port, host, backend_port = int(sys.argv[1]), sys.argv[2], sys.argv[3]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Auth-Status", "OK")
            self.send_header("Auth-Server", host)
            self.send_header("Auth-Port", backend_port)
            self.end_headers()

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        # Every session of a bench may log in at once: a listen backlog of 5 (the default)
        # would drop their requests' SYNs and stall logins by seconds.
        request_queue_size = 4096
        daemon_threads = True

    Server(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
