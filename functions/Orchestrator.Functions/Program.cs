// Placeholder entry point; replaced by the host in the next commit.
return 0;
