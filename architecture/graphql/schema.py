from architecture.graphql.mutations import Mutation
from architecture.graphql.queries import Query

__all__ = ["Query", "Mutation"]
