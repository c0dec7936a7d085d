"""The one GraphQL schema: every app contributes its Query and Mutation."""

import graphene

from cmdb.graphql import schema as cmdb_schema


class Query(cmdb_schema.Query, graphene.ObjectType):
    pass


class Mutation(cmdb_schema.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
