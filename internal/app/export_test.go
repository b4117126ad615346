package app

// FeedKey names a feed's lease, for tests that find its holder.
var FeedKey = feedKey
