"""The one GraphQL schema: every app contributes its Query and Mutation."""

import graphene

from architecture.graphql import schema as architecture_schema
from cmdb.graphql import schema as cmdb_schema
from itsm.graphql import schema as itsm_schema
from sourcing.graphql import schema as sourcing_schema


class Query(
    cmdb_schema.Query,
    itsm_schema.Query,
    sourcing_schema.Query,
    architecture_schema.Query,
    graphene.ObjectType,
):
    pass


class Mutation(
    cmdb_schema.Mutation,
    itsm_schema.Mutation,
    sourcing_schema.Mutation,
    architecture_schema.Mutation,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
