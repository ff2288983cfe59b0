package dataplane

// SetupSteps are Setup's steps in order, for the fault seam.
var SetupSteps = setupSteps

// SetFault makes Setup call f before each step; an error fails the step.
func (l *Linux) SetFault(f func(step string) error) { l.fault = f }
