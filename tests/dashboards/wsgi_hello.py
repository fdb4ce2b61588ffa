"""A WSGI app of a few lines for bench_http's tests to start gunicorn on: no Django."""


def application(environ, start_response):
    body = environ.get("HTTP_COOKIE", "").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
