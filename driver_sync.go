package engram

// SyncExecutor runs the sync statements.
type SyncExecutor interface {
}
