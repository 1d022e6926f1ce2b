"""Server-side paging shared by the list pages."""

from django.core.paginator import Paginator

PAGE_SIZE = 50


def paginate(request, queryset, param: str = "page", per_page: int = PAGE_SIZE):
    """A page of ``queryset`` from ``request.GET[param]``, with ``previous_url``/``next_url``
    that keep the other GET parameters (a search stays a shareable URL while paging)."""
    page = Paginator(queryset, per_page).get_page(request.GET.get(param))
    page.param = param

    def url(number):
        query = request.GET.copy()
        query[param] = number
        return "?" + query.urlencode()

    page.previous_url = url(page.previous_page_number()) if page.has_previous() else ""
    page.next_url = url(page.next_page_number()) if page.has_next() else ""
    return page
