from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (at most 100) on every list; `count` is the whole list's size."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
