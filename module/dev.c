// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/tcpclose: a misc character device.  Each open file that reads or
 * polls has a stream of its own (reader.c); any file answers the ioctls,
 * scoped to the opener's network namespace.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/nsproxy.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include "tcpclose.h"

static int tc_open(struct inode *inode, struct file *file)
{
	struct net *net = current->nsproxy->net_ns;
	struct tc_reader *r;

	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	r = tc_reader_open();
	if (!r)
		return -ENOMEM;
	file->private_data = r;
	return nonseekable_open(inode, file);
}

static int tc_release(struct inode *inode, struct file *file)
{
	tc_reader_release(file->private_data);
	return 0;
}

static ssize_t tc_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	return tc_reader_read(file->private_data, buf, count,
			      file->f_flags & O_NONBLOCK);
}

static __poll_t tc_poll(struct file *file, poll_table *wait)
{
	return tc_reader_poll(file->private_data, file, wait);
}

/* Host-wide counters only for a file opened in the initial namespace. */
static void tc_fill_stats(struct tc_reader *r, struct tcpclose_stats *st,
			  struct tcpclose_cpu_stats *cpu, u32 nr)
{
	u64 netns = tc_reader_netns(r);

	st->size = sizeof(*st);
	st->version = TCPCLOSE_ABI_VERSION;
	tc_reader_stats(r, st, cpu, nr);
	tc_table_stats(st, netns);
	st->load_ns = tc_load_ns;
	st->state_mask = READ_ONCE(tc_state_mask);
	st->hooks = tc_hooks_active() |
		    (tc_timewait_active() ? TCPCLOSE_HOOK_TIMEWAIT : 0) |
		    tc_segment_hooks();
	st->nr_cpus = nr_cpu_ids;
	if (netns) {
		st->scope = TCPCLOSE_SCOPE_NETNS;
		return;
	}
	st->scope = TCPCLOSE_SCOPE_HOST;
	st->seen = tc_stream_seen(cpu, nr);
	st->missed = tc_hooks_missed() + tc_timewait_missed() +
		     tc_segment_missed() + tc_abort_missed();
}

static long tc_ioc_stats(struct tc_reader *r, void __user *arg)
{
	struct tcpclose_cpu_stats *cpu = NULL;
	struct tcpclose_stats st;
	u64 cpu_ptr;
	u32 nr;
	long ret = 0;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	if (st.size != sizeof(st))
		return -EINVAL;
	cpu_ptr = st.cpu_ptr;
	nr = min_t(u32, st.nr_cpus, nr_cpu_ids);
	if (nr && cpu_ptr) {
		cpu = kcalloc(nr, sizeof(*cpu), GFP_KERNEL);
		if (!cpu)
			return -ENOMEM;
	}
	memset(&st, 0, sizeof(st));
	tc_fill_stats(r, &st, cpu, nr);
	st.cpu_ptr = cpu_ptr;
	if (cpu && copy_to_user(u64_to_user_ptr(cpu_ptr), cpu,
				nr * sizeof(*cpu)))
		ret = -EFAULT;
	else if (copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
	kfree(cpu);
	return ret;
}

static long tc_ioc_set_filter(struct tc_reader *r, void __user *arg)
{
	struct tcpclose_filter f;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.size != sizeof(f) ||
	    f.state_mask & ~(BIT(TCPCLOSE_MAX_STATES) - 1) ||
	    (f.family && f.family != AF_INET && f.family != AF_INET6))
		return -EINVAL;
	return tc_reader_set_filter(r, &f);
}

static long tc_ioc_get_filter(struct tc_reader *r, void __user *arg)
{
	struct tcpclose_filter f;
	u32 size;

	if (get_user(size, (u32 __user *)arg))
		return -EFAULT;
	if (size != sizeof(f))
		return -EINVAL;
	tc_reader_get_filter(r, &f);
	return copy_to_user(arg, &f, sizeof(f)) ? -EFAULT : 0;
}

/* The live table, restricted to the opener's namespace unless init_net. */
static long tc_ioc_dump(struct tc_reader *r, void __user *arg)
{
	struct tcpclose_dump d;
	int n;

	if (copy_from_user(&d, arg, sizeof(d)))
		return -EFAULT;
	if (d.size != sizeof(d))
		return -EINVAL;
	if (d.count && !d.entries_ptr)
		return -EFAULT;
	n = tc_table_dump(u64_to_user_ptr(d.entries_ptr), d.count,
			  tc_reader_netns(r), &d.total);
	if (n < 0)
		return n;
	d.count = n;
	return copy_to_user(arg, &d, sizeof(d)) ? -EFAULT : 0;
}

/*
 * The state-duration histograms.  A file opened in the initial namespace
 * gets the host's (netns_cookie 0) or any live namespace's; any other file
 * its own namespace's only.
 */
static long tc_ioc_hist(struct tc_reader *r, void __user *arg)
{
	struct tcpclose_hist h;
	u64 own = tc_reader_netns(r);
	int err;

	if (copy_from_user(&h, arg, sizeof(h)))
		return -EFAULT;
	if (h.size != sizeof(h) || h.row_size != sizeof(struct tcpclose_hist_row))
		return -EINVAL;
	if (h.nr_rows && !h.rows_ptr)
		return -EFAULT;
	if (own && h.netns_cookie && h.netns_cookie != own)
		return -EPERM;
	if (own)
		h.netns_cookie = own;
	err = tc_hist_copy(h.netns_cookie, u64_to_user_ptr(h.rows_ptr),
			   h.nr_rows, &h.nr_rows, &h.since_ns);
	if (err)
		return err;
	h.version = TCPCLOSE_ABI_VERSION;
	h.scope = h.netns_cookie ? TCPCLOSE_SCOPE_NETNS : TCPCLOSE_SCOPE_HOST;
	h.pad = 0;
	return copy_to_user(arg, &h, sizeof(h)) ? -EFAULT : 0;
}

static long tc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tc_reader *r = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case TCPCLOSE_IOC_VERSION:
		return put_user(TCPCLOSE_ABI_VERSION, (u32 __user *)uarg);
	case TCPCLOSE_IOC_STATS:
		return tc_ioc_stats(r, uarg);
	case TCPCLOSE_IOC_SET_FILTER:
		return tc_ioc_set_filter(r, uarg);
	case TCPCLOSE_IOC_GET_FILTER:
		return tc_ioc_get_filter(r, uarg);
	case TCPCLOSE_IOC_DUMP:
		return tc_ioc_dump(r, uarg);
	case TCPCLOSE_IOC_HIST:
		return tc_ioc_hist(r, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations tc_fops = {
	.owner = THIS_MODULE,
	.open = tc_open,
	.release = tc_release,
	.read = tc_read,
	.poll = tc_poll,
	.unlocked_ioctl = tc_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice tc_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tcpclose",
	.fops = &tc_fops,
	.mode = 0600,
};

int tc_dev_init(void)
{
	return misc_register(&tc_misc);
}

/*
 * Open files hold a reference on the module, so this runs only once every
 * reader has gone; the shutdown is a second line of defence.
 */
void tc_dev_exit(void)
{
	misc_deregister(&tc_misc);
	tc_readers_shutdown();
}
