package engram

// GapExecutor runs the gap statements.
type GapExecutor interface {
}
