"""The reference points for bench/ingest.py.

floor: the least a receiver that loses nothing can do — insert one Delivery-sized row and commit it
(autocommit: the INSERT is its own transaction). bare: answer 200 and touch nothing.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bench.benchsite.models import FloorRecord


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    record = FloorRecord.objects.create(
        received_at=now,
        updated_at=now,
        next_attempt_at=now,
        action=request.GET.get("action", "update")[:16],
        contact_id=int(request.GET.get("contact_id") or 0),
        options={},
        method=request.method or "",
        path=request.get_full_path(),
        source_ip=request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse({"success": True, "delivery_id": record.pk, "status": "accepted"}, status=202)


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"success": true}', content_type="application/json")
