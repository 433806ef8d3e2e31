"""One view, so that the request signals have something to fire for."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def orders(request: HttpRequest) -> HttpResponse:
    from sigscope.demo.shop.models import Order

    return HttpResponse(f"{Order.objects.count()} orders\n", content_type="text/plain")


urlpatterns = [path("orders/", orders)]
