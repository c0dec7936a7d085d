from sourcing.graphql.mutations import Mutation
from sourcing.graphql.queries import Query

__all__ = ["Query", "Mutation"]
