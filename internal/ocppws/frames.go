package ocppws

// FrameObserver sees every OCPP frame of every connection, both ways (Config.Frames; the
// per-station message log). sent is true for a frame the central system sends, false for one it
// received. Frame runs on the connection's own goroutine, before a sent frame is written (so an
// answer is never seen before its call): it must be quick, must not block, and must copy what it
// keeps of raw, which is reused after it returns.
type FrameObserver interface {
	Frame(stationID string, sent bool, raw []byte)
}
