package sim

// Log keys of the records ec2sim writes to Config.Logger.
const (
	logKeyErr      = "err"
	logKeyAction   = "action"
	logKeyListener = "listener"
	logKeyPath     = "path"
	logKeyPanic    = "panic"
	logKeyStack    = "stack"
)
