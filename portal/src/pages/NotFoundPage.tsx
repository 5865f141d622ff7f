import { Empty } from "../components/States";
import { Link } from "../router/router";

export function NotFoundPage() {
  return (
    <section>
      <Empty title="Page not found">
        <Link to="/">Go to the overview</Link>
      </Empty>
    </section>
  );
}
