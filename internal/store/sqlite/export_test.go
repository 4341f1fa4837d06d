package sqlite

// Stats reports how many group commits ran and how many operations they carried.
func Stats(s *Store) (batches, ops int64) {
	return s.commit.batches.Load(), s.commit.applied.Load()
}
