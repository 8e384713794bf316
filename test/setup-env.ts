// The AWS SDK's Node 20 notice says nothing actionable here (versions are pinned); keep test output clean.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The stream Lambda's structured logs (Powertools) would flood the test output; tests assert on outcomes.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
