"""A test URLconf: views guarded by tags in every way fusion-site offers, beside the site's own URLs (log
in, webhooks), so tests and the browser test go through real views, middleware and templates."""

from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.views.generic import View

from accounts.tag_guards import TagsRequiredMixin, tags_required
from fusion_site.urls import urlpatterns as site_urlpatterns

# One page that checks tags many times, three ways: the filter, Django's perms and has_perm in the view.
CHECKS_PAGE = engines["django"].from_string(
    "{% load tag_guards %}"
    "<p id=members>{% if user|has_tag:'Members' %}member{% else %}not a member{% endif %}</p>"
    "<p id=gold>{% if user|has_tag:'Gold Members' %}gold{% else %}not gold{% endif %}</p>"
    "<p id=vip>{% if user|has_tag:4 %}vip{% else %}not vip{% endif %}</p>"
    "<p id=perm>{% if perms.tags.Members %}perm{% else %}no perm{% endif %}</p>"
    "<p id=any>{% if perms.tags %}some tag{% else %}no tag{% endif %}</p>"
    "{% for n in repeat %}{% if user|has_tag:'Members' %}.{% endif %}"
    "{% if perms.tags.VIP %}v{% endif %}{% endfor %}"
)


def checks_page(request: HttpRequest) -> HttpResponse:
    in_view = sum(request.user.has_perm("tags.Members") for _ in range(10))
    repeat = range(int(request.GET.get("repeat", "0")))
    return HttpResponse(CHECKS_PAGE.render({"repeat": repeat, "in_view": in_view}, request))


@tags_required("Members")
def members(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<h1 id=content>Members' lessons</h1>")


@tags_required("VIP")
def vip(request: HttpRequest) -> HttpResponse:
    return HttpResponse("VIP lounge")


@tags_required("Gold Members", "VIP", match="any")
def gold_or_vip(request: HttpRequest) -> HttpResponse:
    return HttpResponse("gold or vip")


@tags_required("Members", "VIP")
def members_and_vip(request: HttpRequest) -> HttpResponse:
    return HttpResponse("members and vip")


@tags_required(4)
def by_id(request: HttpRequest) -> HttpResponse:
    return HttpResponse("tag 4")


@tags_required("A Tag Nobody Made")
def unknown(request: HttpRequest) -> HttpResponse:
    return HttpResponse("nobody sees this")


@tags_required("Members")
async def members_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async members")


class Lessons(TagsRequiredMixin, View):
    required_tags = ("Members",)

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("<h1 id=content>Lessons (class)</h1>")


class GoldOrVip(TagsRequiredMixin, View):
    required_tags = ("Gold Members", 4)
    tags_match = "any"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("gold or vip (class)")


class NoTagsSet(TagsRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("never")


class PermissionLessons(PermissionRequiredMixin, View):
    permission_required = "tags.Members"
    raise_exception = True

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("lessons by permission")


@permission_required("tags.Members", raise_exception=True)
def permission_members(request: HttpRequest) -> HttpResponse:
    return HttpResponse("members by permission")


urlpatterns = [
    path("guarded/checks/", checks_page),
    path("guarded/members/", members),
    path("guarded/vip/", vip),
    path("guarded/gold-or-vip/", gold_or_vip),
    path("guarded/members-and-vip/", members_and_vip),
    path("guarded/by-id/", by_id),
    path("guarded/unknown/", unknown),
    path("guarded/async/", members_async),
    path("guarded/lessons/", Lessons.as_view()),
    path("guarded/gold-or-vip-class/", GoldOrVip.as_view()),
    path("guarded/no-tags-set/", NoTagsSet.as_view()),
    path("guarded/permission-class/", PermissionLessons.as_view()),
    path("guarded/permission/", permission_members),
    *site_urlpatterns,
]
