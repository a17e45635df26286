package engine

// InFlight reports whether operation id runs in this process now (its
// saga has not ended): its journal record may change at any moment.
func (e *Engine) InFlight(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[id] != nil
}
