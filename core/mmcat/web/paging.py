"""Server-side paging shared by the list pages."""

PAGE_SIZE = 50
