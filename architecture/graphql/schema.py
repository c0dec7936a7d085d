import graphene

from architecture.graphql import analysis, queries
from architecture.graphql.mutations import Mutation


class Query(queries.Query, analysis.Query, analysis.GovernanceQuery, graphene.ObjectType):
    pass


__all__ = ["Query", "Mutation"]
