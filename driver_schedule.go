package engram

// ScheduleExecutor runs the schedule statements.
type ScheduleExecutor interface {
}
