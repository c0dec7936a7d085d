from cmdb.graphql.mutations import Mutation
from cmdb.graphql.queries import Query

__all__ = ["Query", "Mutation"]
