package engine

type rolloutState struct{}
