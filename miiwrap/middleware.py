from django.http import HttpResponseBadRequest

NUL = "\x00"


class RefuseNulMiddleware:
    """Answer 400 to a request whose path, query string or form values hold a NUL character.

    No page has a use for one, and PostgreSQL refuses NUL in text, so a NUL that reached a
    query would be a 500. Uploaded files are not looked at: the import reads its own cells.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return HttpResponseBadRequest(
                "The request holds a NUL character (\\x00), which no page accepts. "
                "Remove it and try again.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)

    def _has_nul(self, request):
        # request.path holds path_info; GET holds the query string, its %00 decoded.
        if NUL in request.path or _holds_nul(request.GET):
            return True
        return request.method == "POST" and _holds_nul(request.POST)


def _holds_nul(query):
    return any(NUL in key or any(NUL in value for value in values) for key, values in query.lists())
