from itsm.graphql.mutations import Mutation
from itsm.graphql.queries import Query

__all__ = ["Query", "Mutation"]
