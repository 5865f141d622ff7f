//go:build race

package app

// stackBoundKiB under the race detector, whose instrumentation enlarges
// every frame and doubles the stack guard: the handler keeps 16 KiB with or
// without the small frames (45.5 KiB per stream either way, up to 48.5 KiB
// beside two CPU burners), so this bound only catches a stack that grew
// further. The production figure is checked by the build without -race.
const stackBoundKiB = 56
