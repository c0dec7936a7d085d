"""The GraphQL kernel: a base object type that enforces read permissions, a base mutation with
typed field errors, and the view."""

import json

import graphene
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from graphene.utils.str_converters import to_camel_case
from graphene_django.views import GraphQLView
from graphql_relay import from_global_id
from query_optimizer import DjangoObjectType

from landkarte.roles import can_read


class CountableConnection(graphene.relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="rows matching the filters")

    @staticmethod
    def resolve_total_count(root, info):
        # The connection field counts once anyway to compute pageInfo; reuse that number.
        return root.length


class BaseNodeType(DjangoObjectType):
    """Every model type derives from this. Users without a role see no rows, wherever the type
    appears: as a root list, a node lookup or a nested relation."""

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(cls, **options):
        options.setdefault("connection_class", CountableConnection)
        super().__init_subclass_with_meta__(**options)

    @classmethod
    def filter_queryset(cls, queryset, info):
        if not can_read(info.context.user):
            return queryset.none()
        return queryset

    @classmethod
    def get_queryset(cls, queryset, info):
        return cls.filter_queryset(queryset, info)

    @classmethod
    def get_node(cls, info, pk):
        if not can_read(info.context.user):
            return None
        # A type that narrows what a user may see (filter_queryset) narrows node(id) too.
        visible = cls.filter_queryset(cls._meta.model._default_manager.filter(pk=pk), info)
        if not visible.exists():
            return None
        return super().get_node(info, pk)


class ErrorType(graphene.ObjectType):
    field = graphene.String(description="camelCase input field, or null for the whole input")
    message = graphene.String(required=True)
    code = graphene.String(required=True)


def errors_from_validation(exc: ValidationError) -> list[ErrorType]:
    errors = []
    if hasattr(exc, "error_dict"):
        for name, items in exc.error_dict.items():
            field = None if name == "__all__" else to_camel_case(name)
            for item in items:
                message = item.message % item.params if item.params else item.message
                errors.append(
                    ErrorType(field=field, message=str(message), code=item.code or "invalid")
                )
    else:
        for item in exc.error_list:
            message = item.message % item.params if item.params else item.message
            errors.append(ErrorType(field=None, message=str(message), code=item.code or "invalid"))
    return errors


def resolve_global_id(model, global_id, field: str, type_name: str | None = None):
    """The instance behind a Relay ID, or a field ValidationError that says what is wrong."""
    if global_id is None:
        return None
    try:
        kind, pk = from_global_id(global_id)
    except Exception:
        kind, pk = None, None
    expected = type_name or f"{model.__name__}Type"
    if kind != expected or not str(pk).isdigit():
        raise ValidationError(
            {
                field: ValidationError(
                    _("Not a valid %(type)s ID.") % {"type": model.__name__}, code="invalid_id"
                )
            }
        )
    try:
        return model._default_manager.get(pk=pk)
    except ObjectDoesNotExist as exc:
        raise ValidationError(
            {
                field: ValidationError(
                    _("%(type)s not found.") % {"type": model.__name__}, code="not_found"
                )
            }
        ) from exc


class BaseMutation(graphene.Mutation):
    """Runs `perform(info, **input)` in a transaction and turns refusals into typed errors.

    Subclasses declare their output fields and implement `perform`, which returns a dict of the
    output fields; business rules live in the services it calls.
    """

    errors = graphene.List(graphene.NonNull(ErrorType), required=True)

    class Meta:
        abstract = True

    @classmethod
    def perform(cls, info, **kwargs):
        raise NotImplementedError

    @classmethod
    def mutate(cls, root, info, **kwargs):
        user = info.context.user
        if not can_read(user):
            return cls(
                errors=[ErrorType(field=None, message=_("Sign in first."), code="unauthenticated")]
            )
        try:
            with transaction.atomic():
                result = cls.perform(info, **kwargs)
        except ValidationError as exc:
            return cls(errors=errors_from_validation(exc))
        except PermissionDenied as exc:
            message = str(exc) or _("You are not allowed to do this.")
            return cls(errors=[ErrorType(field=None, message=message, code="permission_denied")])
        return cls(errors=[], **result)


class StepMutation(BaseMutation):
    """One step of one object's workflow. Takes the object's `id`, an optional
    `expectedVersion` and the step's own inputs (`arguments()` turns them into service
    arguments), calls `service_function(obj, user=…, expected_version=…, **arguments)` and
    returns the object in `result_field`. An object the user may not see (its type's
    filter_queryset) is "not found": nobody acts on, or learns about, what they cannot read."""

    class Meta:
        abstract = True

    node_type = None
    result_field = ""
    service_function = None

    @classmethod
    def arguments(cls, info, **kwargs) -> dict:
        return kwargs

    @classmethod
    def result(cls, value):
        return value

    @classmethod
    def perform(cls, info, id, expected_version=None, **kwargs):
        model = cls.node_type._meta.model
        obj = resolve_global_id(model, id, "id", cls.node_type._meta.name)
        visible = cls.node_type.filter_queryset(model._default_manager.filter(pk=obj.pk), info)
        if not visible.exists():
            raise ValidationError(
                {"id": ValidationError(_("%(type)s not found.") % {"type": model.__name__},
                                       code="not_found")}
            )  # fmt: skip
        value = cls.service_function(
            obj, user=info.context.user, expected_version=expected_version,
            **cls.arguments(info, **kwargs),
        )  # fmt: skip
        return {cls.result_field: cls.result(value)}


def ticket_arguments(**extra):
    """Arguments of a ticket transition: the object's `id`, `expectedVersion` and `extra`."""
    return type(
        "Arguments",
        (),
        {"id": graphene.ID(required=True), "expected_version": graphene.Int(), **extra},
    )


class LandkarteGraphQLView(GraphQLView):
    """GraphQL for signed-in users only: browsers are sent to the login page, API clients get
    401."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.method == "GET" and self.can_display_graphiql(request, {}):
                return redirect_to_login(request.get_full_path())
            body = {
                "errors": [
                    {
                        "message": _("Authentication required."),
                        "extensions": {"code": "unauthenticated"},
                    }
                ]
            }
            response = HttpResponse(json.dumps(body), status=401, content_type="application/json")
            response["WWW-Authenticate"] = 'Bearer realm="landkarte"'
            return response
        return super().dispatch(request, *args, **kwargs)
