"""Every sourcing rule and state change: catalogues (loading, publishing), assessments (their
lifecycle) and scoring. GraphQL mutations, the admin and commands call these functions."""
