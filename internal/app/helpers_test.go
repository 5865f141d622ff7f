package app

import "llmmeter/internal/store"

func userInput(name string) store.EnsureUserInput { return store.EnsureUserInput{ExternalID: name} }
