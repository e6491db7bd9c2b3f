package rows

import (
	"time"

	"github.com/engram-kb/engram"
)

// FinishConnector sets the fields of a scanned connector that both
// engines derive the same way: its status and its schedule.
func FinishConnector(c *engram.Connector, status string, interval *int64) {
	c.SetSyncSchedule(interval)
	c.Status = engram.ConnectorStatus(status)
}

// ConnectorChange returns the nullable column values of a change: nil
// keeps the column.
func ConnectorChange(ch engram.ConnectorChange) (status, settings *string) {
	if ch.Status != nil {
		st := string(*ch.Status)
		status = &st
	}
	if ch.Settings != nil {
		st := string(ch.Settings)
		settings = &st
	}
	return status, settings
}

// TimePtr returns t made a parameter by format, or nil (NULL) for nil.
func TimePtr[T any](t *time.Time, format func(time.Time) T) *T {
	if t == nil {
		return nil
	}
	v := format(*t)
	return &v
}
