package engine

// visitCount is visits("step") in expressions: entries of the step (by id
// or ref) so far, the current one included.
func (s *Session) visitCount(idOrRef string) int {
	if st := s.rb.Step(idOrRef); st != nil {
		return s.visits[st.ID]
	}
	return 0
}
