from django import forms
from django.contrib import admin
from django.template.defaultfilters import date as format_date
from django.template.defaultfilters import filesizeformat, truncatechars
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from llm import audit, logins
from llm.models import ApiToken, AuditEntry, GenerationRequest, Lease, ModelPull, Node


# The app's own sidebar of models takes 300 px beside every list, which then runs off a 1366 px
# screen; the breadcrumbs and the index page lead to the same places.
admin.site.enable_nav_sidebar = False
admin.site.login_form = logins.AdminLoginForm  # throttled, like the dashboard's login


class ApiTokenForm(forms.ModelForm):
    # Left out, a new token gets the least power: generate.
    role = forms.ChoiceField(choices=ApiToken.Role.choices, required=False, initial=ApiToken.Role.GENERATE)

    class Meta:
        model = ApiToken
        fields = "__all__"

    def clean_role(self):
        return self.cleaned_data["role"] or ApiToken.Role.GENERATE


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    # Narrow columns, so that the list fits a 1366 px screen: short roles and dates, usage on its own page.
    list_display = ["name", "key", "role_name", "owner", "created", "last_used", "state", "usage"]
    list_filter = ["role", "revoked_at", "expires_at"]
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "request_count", "prompt_tokens", "generated_tokens"]
    fieldsets = [
        (None, {"fields": ["name", "role", "owner", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]}),
        ("Usage (generations finished)", {"fields": ["request_count", "prompt_tokens", "generated_tokens"]}),
    ]
    actions = ["revoke"]

    @admin.display(description="key", ordering="prefix")
    def key(self, token):
        return "(environment)" if token.is_bootstrap else f"{token.prefix}…"

    @admin.display(description="role", ordering="role")
    def role_name(self, token):
        return token.role  # the choice's label is a sentence, which wraps into a tall row

    @admin.display(description="created at", ordering="created_at")
    def created(self, token):
        return _short_date(token.created_at, "Y-m-d")

    @admin.display(description="last used at", ordering="last_used_at")
    def last_used(self, token):
        return _short_date(token.last_used_at)

    @admin.display(description="state", ordering="revoked_at")
    def state(self, token):
        """Revoked, expired, expiring or active: one column instead of two dates."""
        if token.revoked_at:
            return f"revoked {_short_date(token.revoked_at, 'Y-m-d')}"
        if token.expires_at:
            verb = "expires" if token.is_active else "expired"
            return f"{verb} {_short_date(token.expires_at, 'Y-m-d')}"
        return "active"

    @admin.display(description="usage", ordering="request_count")
    def usage(self, token):
        """Generations finished, linked to the token's row on the usage page (tokens, waits, refusals)."""
        return format_html(
            '<a href="{}#token-{}">{} requests</a>', reverse("dashboard:usage"), token.pk, token.request_count
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.new_key = obj.set_new_key()  # for response_add; only its hash is stored
        super().save_model(request, obj, form, change)
        _audit_token_save(request, obj, form, change)

    @method_decorator(never_cache)
    def response_add(self, request, obj, post_url_continue=None):
        """The new key in this response's page, once: never in a message, which would
        carry it in the signed but readable `messages` cookie to the next page."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy the new key",
            "opts": self.opts,
            "token": obj,
            "key": obj.new_key,
        }
        return TemplateResponse(request, "admin/llm/apitoken/key_created.html", context)

    def delete_model(self, request, obj):
        audit.record(audit.Action.TOKEN_DELETE, obj, user=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            audit.record(audit.Action.TOKEN_DELETE, token, user=request.user)
        super().delete_queryset(request, queryset)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.active():
            token.revoke()
            audit.record(audit.Action.TOKEN_REVOKE, token, user=request.user, token_id=token.pk)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GenerationRequest)
class GenerationRequestAdmin(ReadOnlyAdmin):
    list_display = ["request_id", "kind", "model", "status", "token_name", "created", "waited", "took", "eval_count"]
    list_filter = ["status", "kind", "model"]
    search_fields = ["request_id", "prompt", "token__name"]
    date_hierarchy = "created_at"

    @admin.display(description="created at", ordering="created_at")
    def created(self, generation):
        return _short_date(generation.created_at, "Y-m-d H:i:s")

    @admin.display(description="token", ordering="token__name")
    def token_name(self, generation):
        return generation.token.name if generation.token else "-"

    @admin.display(description="waited")
    def waited(self, generation):
        return _seconds(generation.started_at and generation.started_at - generation.created_at)

    @admin.display(description="took")
    def took(self, generation):
        return _seconds(generation.duration)


@admin.register(ModelPull)
class ModelPullAdmin(ReadOnlyAdmin):
    list_display = ["model", "status", "percent", "completed", "total", "created", "finished"]
    list_filter = ["status", "model"]
    search_fields = ["model", "error"]

    @admin.display(description="completed", ordering="completed_bytes")
    def completed(self, pull):
        return filesizeformat(pull.completed_bytes)

    @admin.display(description="total", ordering="total_bytes")
    def total(self, pull):
        return filesizeformat(pull.total_bytes) if pull.total_bytes else "-"

    @admin.display(description="created at", ordering="created_at")
    def created(self, pull):
        return _short_date(pull.created_at)

    @admin.display(description="finished at", ordering="finished_at")
    def finished(self, pull):
        return _short_date(pull.finished_at)


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    """The nodes of LLM_NODES: only "in service" is the admin's to change (the rest the gateway sees)."""

    list_display = ["name", "url", "in_service", "reachable", "resident", "last_used_at"]
    list_editable = ["in_service"]
    fields = ["name", "url", "in_service", "reachable", "error", "resident", "installed", "last_used_at"]
    readonly_fields = ["name", "url", "reachable", "error", "resident", "installed", "last_used_at"]

    def has_add_permission(self, request):
        return False  # LLM_NODES says which nodes there are

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only the one field: a whole save() could write back what the engine saw resident a
        # moment ago over what it has written since (llm/engine/residency.py).
        if "in_service" in form.changed_data:
            Node.objects.filter(pk=obj.pk).update(in_service=obj.in_service)
            audit.record(audit.Action.NODE_SERVICE, obj.name, user=request.user, in_service=obj.in_service)


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "holder", "expires_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created", "action", "target", "who", "details"]
    list_select_related = ["user", "token"]
    list_filter = ["action"]
    search_fields = ["action", "target", "token__name", "user__username"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        return False  # the trail stays whole

    @admin.display(description="created at", ordering="created_at")
    def created(self, entry):
        return _short_date(entry.created_at, "Y-m-d H:i:s")

    @admin.display(description="detail")
    def details(self, entry):
        text = ", ".join(f"{key}={value}" for key, value in entry.detail.items()) if entry.detail else ""
        return truncatechars(text, 48)

    @admin.display(description="who")
    def who(self, entry):
        if entry.user_id:
            return f"user {entry.user}"
        if entry.token_id:
            return f"token {entry.token.name}"
        return "the service"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "token")


def _short_date(moment, fmt="Y-m-d H:i"):
    return format_date(timezone.localtime(moment), fmt) if moment else "-"


def _seconds(delta):
    return f"{delta.total_seconds():.1f} s" if delta is not None else "-"


def _audit_token_save(request, token, form, change):
    """token.create, token.revoke when revoked_at was set, token.change otherwise; never the key."""
    if not change:
        audit.record(audit.Action.TOKEN_CREATE, token, user=request.user, token_id=token.pk, role=token.role)
        return
    if not form.changed_data:
        return
    action = audit.Action.TOKEN_CHANGE
    if "revoked_at" in form.changed_data and token.revoked_at is not None:
        action = audit.Action.TOKEN_REVOKE
    audit.record(action, token, user=request.user, token_id=token.pk, changed=sorted(form.changed_data))
