export function StatCard({ label, value, hint, testId, title }: { label: string; value: string; hint?: string; testId?: string; title?: string }) {
  return (
    <div className="stat-card" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" title={title}>
        {value}
      </div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}
