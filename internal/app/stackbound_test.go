//go:build !race

package app

// stackBoundKiB bounds TestOpenStreamStacks's goroutine stacks per open
// stream. Service: handler 8 KiB, background reader 4 KiB, HTTP/2 stream
// writer 4 KiB; simulator: its handler; about 24 KiB in all. A handler
// left at 16 KiB puts the figure at 32 KiB; 23-27 KiB measured beside
// two CPU burners.
const stackBoundKiB = 29
