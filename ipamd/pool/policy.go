package pool

// CONTRACT STUB: Decide's signature is the contract with the pool manager.

// Decide returns the actions that bring the pool to its targets.
func Decide(in Input) Decision { return Decision{} }
