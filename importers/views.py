"""Download a list as CSV or Excel: the same rows and filters as the GraphQL list."""

import io

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone

from importers.exports import EXPORTS, ExportError, export_rows, write_csv, write_xlsx
from landkarte.roles import can_read

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RESERVED_PARAMS = {"format"}


def query_filters(query_dict) -> dict:
    """Filters from the query string: repeated parameters become lists."""
    filters = {}
    for key in query_dict:
        if key in RESERVED_PARAMS:
            continue
        values = query_dict.getlist(key)
        filters[key] = values if len(values) > 1 else values[0]
    return filters


def export_view(request, name, fmt=None):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_read(request.user):
        return HttpResponseForbidden("You have no role that may read this data.")
    if name not in EXPORTS:
        raise Http404(f"No export named {name!r}.")
    fmt = (request.GET.get("format") or fmt or "csv").lower()
    if fmt not in CONTENT_TYPES:
        raise Http404(f"Unknown format {fmt!r}; use csv or xlsx.")
    try:
        headers, rows = export_rows(
            name, user=request.user, filters=query_filters(request.GET), request=request
        )
    except ExportError as exc:
        return HttpResponseBadRequest(str(exc))
    response = HttpResponse(content_type=CONTENT_TYPES[fmt])
    if fmt == "csv":
        write_csv(headers, rows, response)
    else:
        buffer = io.BytesIO()
        write_xlsx(headers, rows, buffer, title=name)
        response.write(buffer.getvalue())
    filename = f"{name.replace('_', '-')}-{timezone.localdate().isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
