package engram

// DocumentExecutor runs the document statements.
type DocumentExecutor interface {
}
