import { Component, type ReactNode } from "react";
import { toAdminError } from "../data/errors";
import { ErrorState } from "./States";

/** Catches render errors (and convex/react's thrown query errors) per page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }
  render() {
    if (this.state.error) return <ErrorState error={toAdminError(this.state.error)} title="This page failed" />;
    return this.props.children;
  }
}
