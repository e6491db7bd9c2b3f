package engram

// JobExecutor runs the job statements.
type JobExecutor interface {
}
