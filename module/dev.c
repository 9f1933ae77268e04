// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/tcpclose: a misc character device.  Any number of files may be open
 * for ioctls; the event stream goes to one reader at a time (the first file
 * to read or poll), because each record is delivered once.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/nsproxy.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include "tcpclose.h"

struct tc_file {
	struct tcpclose_filter filter;
	u32 netns;		/* the opener's namespace; 0 for init_net */
};

/*
 * tc_read_mutex serialises the owner's readers and filter changes; it is
 * never held while sleeping for records, so other files' ioctls and
 * close() never wait for a blocked reader.
 */
static DEFINE_MUTEX(tc_read_mutex);
static DEFINE_SPINLOCK(tc_owner_lock);
static struct file *tc_stream_owner;

static int tc_open(struct inode *inode, struct file *file)
{
	struct net *net = current->nsproxy->net_ns;
	struct tc_file *tf;

	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	tf->filter.size = sizeof(tf->filter);
	tf->netns = net_eq(net, &init_net) ? 0 : net->ns.inum;
	file->private_data = tf;
	return nonseekable_open(inode, file);
}

static int tc_release(struct inode *inode, struct file *file)
{
	spin_lock(&tc_owner_lock);
	if (tc_stream_owner == file) {
		tc_stream_owner = NULL;
		tc_stream_unowned();
	}
	spin_unlock(&tc_owner_lock);
	kfree(file->private_data);
	return 0;
}

/* The stream belongs to the first file that reads or polls it. */
static bool tc_claim_stream(struct file *file)
{
	bool mine;

	spin_lock(&tc_owner_lock);
	if (!tc_stream_owner)
		tc_stream_owner = file;
	mine = tc_stream_owner == file;
	spin_unlock(&tc_owner_lock);
	return mine;
}

static ssize_t tc_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	struct tc_file *tf = file->private_data;
	ssize_t n;
	int err;

	if (count < sizeof(struct tcpclose_event))
		return -EINVAL;
	if (!tc_claim_stream(file))
		return -EBUSY;
	for (;;) {
		if (mutex_lock_interruptible(&tc_read_mutex))
			return -ERESTARTSYS;
		n = tc_stream_copy(buf, count, &tf->filter, tf->netns);
		mutex_unlock(&tc_read_mutex);
		if (n)
			return n;
		if (tc_stream_dying())
			return 0;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = tc_stream_wait();
		if (err)
			return err;
	}
}

static __poll_t tc_poll(struct file *file, poll_table *wait)
{
	return tc_claim_stream(file) ? tc_stream_poll(file, wait) : EPOLLERR;
}

static long tc_ioc_stats(void __user *arg)
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
	st.size = sizeof(st);
	st.version = TCPCLOSE_ABI_VERSION;
	tc_stream_stats(&st, cpu, nr);
	tc_table_stats(&st);
	st.load_ns = tc_load_ns;
	st.state_mask = READ_ONCE(tc_state_mask);
	st.hooks = tc_hooks_active() |
		   (tc_timewait_active() ? TCPCLOSE_HOOK_TIMEWAIT : 0);
	st.nr_cpus = nr_cpu_ids;
	st.cpu_ptr = cpu_ptr;
	if (cpu && copy_to_user(u64_to_user_ptr(cpu_ptr), cpu,
				nr * sizeof(*cpu)))
		ret = -EFAULT;
	else if (copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
	kfree(cpu);
	return ret;
}

static long tc_ioc_set_filter(struct tc_file *tf, void __user *arg)
{
	struct tcpclose_filter f;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.size != sizeof(f) ||
	    f.state_mask & ~(BIT(TCPCLOSE_MAX_STATES) - 1) ||
	    (f.family && f.family != AF_INET && f.family != AF_INET6))
		return -EINVAL;
	mutex_lock(&tc_read_mutex);
	tf->filter = f;
	mutex_unlock(&tc_read_mutex);
	return 0;
}

static long tc_ioc_get_filter(struct tc_file *tf, void __user *arg)
{
	struct tcpclose_filter f;
	u32 size;

	if (get_user(size, (u32 __user *)arg))
		return -EFAULT;
	if (size != sizeof(f))
		return -EINVAL;
	mutex_lock(&tc_read_mutex);
	f = tf->filter;
	mutex_unlock(&tc_read_mutex);
	return copy_to_user(arg, &f, sizeof(f)) ? -EFAULT : 0;
}

/* The live table, restricted to the opener's namespace unless init_net. */
static long tc_ioc_dump(struct tc_file *tf, void __user *arg)
{
	struct tcpclose_sock *buf = NULL;
	struct tcpclose_dump d;
	long ret = 0;
	u32 room;

	if (copy_from_user(&d, arg, sizeof(d)))
		return -EFAULT;
	if (d.size != sizeof(d))
		return -EINVAL;
	room = min_t(u32, d.count, tc_table_max);
	if (room && !d.entries_ptr)
		return -EFAULT;
	if (room) {
		buf = kvmalloc_array(room, sizeof(*buf), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	d.count = tc_table_dump(buf, room, tf->netns, &d.total);
	if (d.count && copy_to_user(u64_to_user_ptr(d.entries_ptr), buf,
				    d.count * sizeof(*buf)))
		ret = -EFAULT;
	else if (copy_to_user(arg, &d, sizeof(d)))
		ret = -EFAULT;
	kvfree(buf);
	return ret;
}

static long tc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tc_file *tf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case TCPCLOSE_IOC_VERSION:
		return put_user(TCPCLOSE_ABI_VERSION, (u32 __user *)uarg);
	case TCPCLOSE_IOC_STATS:
		return tc_ioc_stats(uarg);
	case TCPCLOSE_IOC_SET_FILTER:
		return tc_ioc_set_filter(tf, uarg);
	case TCPCLOSE_IOC_GET_FILTER:
		return tc_ioc_get_filter(tf, uarg);
	case TCPCLOSE_IOC_DUMP:
		return tc_ioc_dump(tf, uarg);
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
	tc_stream_shutdown();
}
