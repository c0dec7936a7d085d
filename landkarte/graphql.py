"""The GraphQL kernel: a base object type that enforces read permissions, a base mutation with
typed field errors, and the view."""

import json

import graphene
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.translation import gettext as _
from graphene.utils.str_converters import to_camel_case
from graphene_django.constants import MUTATION_ERRORS_FLAG
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    validate_schema,
)
from graphql_relay import from_global_id
from query_optimizer import DjangoObjectType

from landkarte import graphql_limits as limits
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


class CodedHttpError(HttpError):
    """An HTTP refusal whose JSON error carries extensions.code."""

    def __init__(self, response, message, code):
        super().__init__(response, message)
        self.code = code


class LandkarteGraphQLView(GraphQLView):
    """GraphQL for signed-in users only: browsers are sent to the login page, API clients get
    401. Documents are parsed once, measured against the limits of landkarte.graphql_limits
    before validation, validated once and kept in an LRU cache. Mutations only by POST; CSRF is
    enforced by the middleware for session requests (this view is not csrf_exempt; bearer-token
    requests are exempt, see landkarte.auth)."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.method == "GET" and self.can_display_graphiql(request, {}):
                return redirect_to_login(request.get_full_path())
            response = self.error_response(
                _("Authentication required."), "unauthenticated", status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="landkarte"'
            return response
        maximum = limits.limit("MAX_BODY_BYTES")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > maximum or len(request.META.get("QUERY_STRING", "")) > maximum:
            return self.error_response(
                _("The request is larger than %(max)d bytes.") % {"max": maximum},
                "request_too_large",
                status=413,
            )
        return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def error_response(message, code, status):
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")

    def format_error(self, error):
        if isinstance(error, CodedHttpError):
            return {"message": error.message, "extensions": {"code": error.code}}
        formatted = super().format_error(error)
        if not limits.limit("FIELD_SUGGESTIONS") and "message" in formatted:
            formatted["message"] = limits.strip_suggestions(formatted["message"])
        if "path" not in formatted:
            # The request as a whole was refused (bad variables, unknown operation, ...).
            extensions = formatted.setdefault("extensions", {})
            extensions.setdefault("code", "bad_request")
        return formatted

    def execute_graphql_request(
        self, request, data, query, variables, operation_name, show_graphiql=False
    ):
        """graphene-django's version with parse and validate replaced by the cached, limited
        preparation; execution itself is unchanged."""
        if not query:
            if show_graphiql:
                return None
            raise CodedHttpError(
                HttpResponseBadRequest(), _("Must provide query string."), "query_missing"
            )
        schema = self.schema.graphql_schema
        schema_validation_errors = validate_schema(schema)
        if schema_validation_errors:
            return ExecutionResult(data=None, errors=schema_validation_errors)

        rules = self.validation_rules
        max_errors = graphene_settings.MAX_VALIDATION_ERRORS
        try:
            prepared = limits.prepare(schema, query, rules, max_errors)
            operation_ast = get_operation_ast(prepared.document, operation_name)
            if (
                request.method.lower() == "get"
                and operation_ast is not None
                and operation_ast.operation != OperationType.QUERY
            ):
                if show_graphiql:
                    return None
                raise CodedHttpError(
                    HttpResponseNotAllowed(["POST"]),
                    _("Can only perform a %(operation)s operation from a POST request.")
                    % {"operation": operation_ast.operation.value},
                    "method_not_allowed",
                )
            limits.enforce(schema, prepared, variables, request.user)
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])

        validation_errors = limits.validation_errors(schema, prepared, rules, max_errors)
        if validation_errors:
            return ExecutionResult(data=None, errors=validation_errors)

        document = prepared.document
        try:
            execute_options = {
                "root_value": self.get_root_value(request),
                "context_value": self.get_context(request),
                "variable_values": variables,
                "operation_name": operation_name,
                "middleware": self.get_middleware(request),
                "hide_suggestions": not limits.limit("FIELD_SUGGESTIONS"),
            }
            if self.execution_context_class:
                execute_options["execution_context_class"] = self.execution_context_class
            if (
                operation_ast is not None
                and operation_ast.operation == OperationType.MUTATION
                and (
                    graphene_settings.ATOMIC_MUTATIONS is True
                    or connection.settings_dict.get("ATOMIC_MUTATIONS", False) is True
                )
            ):
                with transaction.atomic():
                    result = execute(schema, document, **execute_options)
                    if getattr(request, MUTATION_ERRORS_FLAG, False) is True:
                        transaction.set_rollback(True)
                return result
            return execute(schema, document, **execute_options)
        except Exception as exc:
            return ExecutionResult(errors=[exc])
