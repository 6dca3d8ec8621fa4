"""Training subsidies: the versioned subsidy policy and claims per passed completion."""
