package engram

// TenantExecutor runs the tenant statements.
type TenantExecutor interface {
}
