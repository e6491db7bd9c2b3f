package engram

// ConnectorExecutor runs the connector statements.
type ConnectorExecutor interface {
}
