package dataplane

// SetupSteps are Setup's steps in order, for the fault seam.
var SetupSteps = setupSteps

// UndoSteps are the steps of Setup's undo, for the fault seam.
var UndoSteps = undoSteps

// TeardownHostVethStep is Teardown's step between finding a surviving
// host veth and deleting it.
const TeardownHostVethStep = stepHostVeth

// SetFault makes Setup and Teardown call f before each step; an error
// fails the step.
func (l *Linux) SetFault(f func(step string) error) { l.fault = f }
